# Renders vagrant-2.3.4-ssh-config-9-machines.txt with Vagrant's own ssh-config
# template and renderer settings (Erubi, trim: true; one blank line after each
# block, as `vagrant ssh-config` prints), for the reference lab's 9 machines as
# VirtualBox would forward them. `vagrant ssh-config` itself needs running VMs.
# Usage: ruby tests/data/vagrant/render-ssh-config.rb > tests/data/vagrant/vagrant-2.3.4-ssh-config-9-machines.txt
require "erubi"

TEMPLATE = "/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/templates/commands/ssh_config/config.erb"
LAB = "/home/user/calico-cumulus"
NAMES = %w[spine-sw1 spine-sw2 leaf1 leaf2 k8s-master-l1-1 k8s-node-l1-1 k8s-node-l1-2 k8s-node-l2-1 k8s-node-l2-2]

src = Erubi::Engine.new(File.read(TEMPLATE), trim: true).src
NAMES.each_with_index do |name, i|
  host_key = name
  config = nil
  ssh_host = "127.0.0.1"
  ssh_user = "vagrant"
  ssh_port = 2222 + i
  verify_host_key = false
  private_key_path = ["#{LAB}/.vagrant/machines/#{name}/virtualbox/private_key"]
  # One machine with a second key in a folder with a space: quoted by Vagrant.
  private_key_path << "/home/user/vagrant keys/insecure_private_key" if name == "leaf1"
  keys_only = true
  log_level = nil
  forward_agent = false
  forward_x11 = false
  proxy_command = name == "k8s-node-l2-2" ? "ssh -W %h:%p -q jump@127.0.0.1" : nil
  print eval(src)
  puts
end
